// Original file: src/proto/node.proto

import type { Long } from '@grpc/proto-loader';

export interface MemoryReplyInput {
  'totalBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'availableBytes'?: (number | string | Long);
  'buffersBytes'?: (number | string | Long);
  'cachedBytes'?: (number | string | Long);
  'swapTotalBytes'?: (number | string | Long);
  'swapFreeBytes'?: (number | string | Long);
}

export interface MemoryReply {
  'totalBytes': (number);
  'freeBytes': (number);
  'availableBytes': (number);
  'buffersBytes': (number);
  'cachedBytes': (number);
  'swapTotalBytes': (number);
  'swapFreeBytes': (number);
}
