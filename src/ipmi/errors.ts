import { BmcError, BmcErrorCode } from '../power/errors.ts'
import { completionCodeName } from './completion-codes.ts'

/** A command answered with a non-zero completion code (IPMI v2.0 §5.2): the power domain's ERR_BMC_COMPLETION. */
export class IpmiCompletionError extends BmcError {
  readonly completionCode: number

  constructor (completionCode: number, what: string, specific?: Readonly<Record<number, string>>) {
    const name = completionCodeName(completionCode, specific)
    super(BmcErrorCode.completion, `${what}: the BMC answered ${name}`, { completionCode, completionName: name })
    this.name = 'IpmiCompletionError'
    this.completionCode = completionCode
  }
}
