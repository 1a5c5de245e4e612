// Original file: src/proto/provisioning.proto


// Original file: src/proto/provisioning.proto

export const _anvil_provisioning_v1_WipeTask_Method = {
  METHOD_UNSPECIFIED: 'METHOD_UNSPECIFIED',
  /**
   * zero every signature location, discard where supported
   */
  FAST: 'FAST',
  /**
   * overwrite the whole disk
   */
  ZEROES: 'ZEROES',
} as const;

export type _anvil_provisioning_v1_WipeTask_MethodInput =
  | 'METHOD_UNSPECIFIED'
  | 0
  /**
   * zero every signature location, discard where supported
   */
  | 'FAST'
  | 1
  /**
   * overwrite the whole disk
   */
  | 'ZEROES'
  | 2

export type _anvil_provisioning_v1_WipeTask_Method = typeof _anvil_provisioning_v1_WipeTask_Method[keyof typeof _anvil_provisioning_v1_WipeTask_Method]

export interface WipeTaskInput {
  'method'?: (_anvil_provisioning_v1_WipeTask_MethodInput);
  /**
   * disk names; empty means every disk the agent reported
   */
  'disks'?: (string)[];
  /**
   * blocks read back per disk after the wipe (0: the agent's default)
   */
  'verifySamples'?: (number);
}

export interface WipeTask {
  'method': (_anvil_provisioning_v1_WipeTask_Method);
  /**
   * disk names; empty means every disk the agent reported
   */
  'disks': (string)[];
  /**
   * blocks read back per disk after the wipe (0: the agent's default)
   */
  'verifySamples': (number);
}
