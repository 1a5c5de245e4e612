// Original file: src/proto/provisioning.proto


export interface HelloInput {
  'agentVersion'?: (string);
  /**
   * The MAC of the interface the agent reached the server on (lower case, colon separated).
   */
  'bootMac'?: (string);
  /**
   * The disk the environment booted from, if any (it is never wiped).
   */
  'bootDisk'?: (string);
}

export interface Hello {
  'agentVersion': (string);
  /**
   * The MAC of the interface the agent reached the server on (lower case, colon separated).
   */
  'bootMac': (string);
  /**
   * The disk the environment booted from, if any (it is never wiped).
   */
  'bootDisk': (string);
}
