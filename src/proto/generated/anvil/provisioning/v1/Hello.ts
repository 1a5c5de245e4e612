// Original file: src/proto/provisioning.proto


export interface HelloInput {
  /**
   * at most 64 characters
   */
  'agentVersion'?: (string);
  /**
   * The MAC of the interface the agent reached the server on (lower case, colon separated); it
   * must be one of the machine's MACs.
   */
  'bootMac'?: (string);
  /**
   * The disk the environment booted from, if any (it is never wiped); at most 64 characters.
   */
  'bootDisk'?: (string);
}

export interface Hello {
  /**
   * at most 64 characters
   */
  'agentVersion': (string);
  /**
   * The MAC of the interface the agent reached the server on (lower case, colon separated); it
   * must be one of the machine's MACs.
   */
  'bootMac': (string);
  /**
   * The disk the environment booted from, if any (it is never wiped); at most 64 characters.
   */
  'bootDisk': (string);
}
