// Original file: src/proto/provisioning.proto


export interface CpuInfoInput {
  'model'?: (string);
  'sockets'?: (number);
  /**
   * physical cores in all sockets
   */
  'cores'?: (number);
  /**
   * logical CPUs
   */
  'threads'?: (number);
}

export interface CpuInfo {
  'model': (string);
  'sockets': (number);
  /**
   * physical cores in all sockets
   */
  'cores': (number);
  /**
   * logical CPUs
   */
  'threads': (number);
}
