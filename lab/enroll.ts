import type { ApiMachine, LabApi } from './api.ts'
import type { LabBmc } from './bmc.ts'

/**
 * Enrols a VM with its BMC through the admin API, before it ever boots: by MAC only, so what the
 * firmware reports at its first PXE boot (UUID, serial) fills the same record in. A VM already in
 * the inventory (a lab restarted without --fresh) gets its BMC set again instead of a second record.
 * Cipher suite 3: Debian's ipmi_sim implements only the SHA-1 suites (LAB-NOTES).
 */
export async function enrollBmc (api: LabApi, bmc: LabBmc): Promise<ApiMachine> {
  const credentials = { address: bmc.address, port: bmc.port, user: bmc.user, password: bmc.password, cipherSuite: 3 as const }
  const known = await api.machineByMac(bmc.vm.mac)
  if (known !== undefined) return await api.setBmc(known.id, credentials)
  return await api.enroll({ mac: bmc.vm.mac, bmc: credentials })
}

/** Enrols every BMC of the lab; returns the machine ID per VM name. */
export async function enrollAll (api: LabApi, bmcs: Iterable<LabBmc>): Promise<Map<string, string>> {
  const ids = new Map<string, string>()
  for (const bmc of bmcs) ids.set(bmc.vm.name, (await enrollBmc(api, bmc)).id)
  return ids
}
