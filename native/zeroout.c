/*
 * anvil-zeroout DEVICE OFFSET LENGTH: zeroes LENGTH bytes of a block device from OFFSET with one
 * BLKZEROOUT ioctl (linux/fs.h), so the kernel writes the zeroes itself: a WRITE ZEROES command
 * where the device has one (virtio-blk, NVMe, SCSI WRITE SAME), else zero pages it never copies
 * from user memory. Node cannot issue an ioctl, and busybox has no `blkdiscard -z`; the install's
 * zero chunks (most of an image) go through this when the boot environment has it, and through
 * plain writes otherwise (src/agent/install-zero.ts). Every byte is read back afterwards either
 * way. Built static into the boot environment (boot-assets/build-bootenv.sh). Exit 0 done,
 * 1 refused (the reason on stderr: ENOTTY for a file that is not a block device), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int parse(const char *s, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return -1;
  *out = (uint64_t)v;
  return 0;
}

int main(int argc, char **argv) {
  uint64_t range[2];
  if (argc != 4 || parse(argv[2], &range[0]) != 0 || parse(argv[3], &range[1]) != 0) {
    fprintf(stderr, "usage: anvil-zeroout DEVICE OFFSET LENGTH (bytes, multiples of 512)\n");
    return 2;
  }
  int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "anvil-zeroout: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  if (ioctl(fd, BLKZEROOUT, range) != 0) {
    fprintf(stderr, "anvil-zeroout: BLKZEROOUT %" PRIu64 "+%" PRIu64 " on %s: %s\n", range[0], range[1], argv[1], strerror(errno));
    close(fd);
    return 1;
  }
  if (fdatasync(fd) != 0) {
    fprintf(stderr, "anvil-zeroout: fdatasync %s: %s\n", argv[1], strerror(errno));
    close(fd);
    return 1;
  }
  return close(fd) == 0 ? 0 : 1;
}
