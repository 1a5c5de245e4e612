// Original file: src/proto/provisioning.proto

import type { Long } from '@grpc/proto-loader';

export interface DiskInput {
  /**
   * vda, nvme0n1, sda
   */
  'name'?: (string);
  'sizeBytes'?: (number | string | Long);
  'model'?: (string);
  'serial'?: (string);
  'wwn'?: (string);
  'rotational'?: (boolean);
  'removable'?: (boolean);
  /**
   * virtio, nvme, sata, sas, usb, ...
   */
  'transport'?: (string);
  /**
   * dev/disk/by-id names, when udev made them; else derived names
   */
  'byId'?: (string)[];
  /**
   * gpt, dos, or empty
   */
  'partitionTable'?: (string);
  /**
   * filesystem/RAID/LVM signatures found (e.g. "ext4 on vda1", "linux_raid_member")
   */
  'signatures'?: (string)[];
  'readOnly'?: (boolean);
  'logicalBlockSize'?: (number);
  /**
   * the device supports discard (TRIM/DEALLOCATE)
   */
  'discard'?: (boolean);
}

export interface Disk {
  /**
   * vda, nvme0n1, sda
   */
  'name': (string);
  'sizeBytes': (number);
  'model': (string);
  'serial': (string);
  'wwn': (string);
  'rotational': (boolean);
  'removable': (boolean);
  /**
   * virtio, nvme, sata, sas, usb, ...
   */
  'transport': (string);
  /**
   * dev/disk/by-id names, when udev made them; else derived names
   */
  'byId': (string)[];
  /**
   * gpt, dos, or empty
   */
  'partitionTable': (string);
  /**
   * filesystem/RAID/LVM signatures found (e.g. "ext4 on vda1", "linux_raid_member")
   */
  'signatures': (string)[];
  'readOnly': (boolean);
  'logicalBlockSize': (number);
  /**
   * the device supports discard (TRIM/DEALLOCATE)
   */
  'discard': (boolean);
}
