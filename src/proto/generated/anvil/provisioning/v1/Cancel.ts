// Original file: src/proto/provisioning.proto


/**
 * Stop the task at its next safe point (between chunks of a wipe) and send its TaskResult with
 * ok=false, error "cancelled", and erase reports saying how far each disk got. A cancel for a task
 * that already finished is answered with its result again; for an unknown task, ignored.
 */
export interface CancelInput {
  'taskId'?: (string);
}

/**
 * Stop the task at its next safe point (between chunks of a wipe) and send its TaskResult with
 * ok=false, error "cancelled", and erase reports saying how far each disk got. A cancel for a task
 * that already finished is answered with its result again; for an unknown task, ignored.
 */
export interface Cancel {
  'taskId': (string);
}
