import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentMessage as _anvil_provisioning_v1_AgentMessage, AgentMessage__Output as _anvil_provisioning_v1_AgentMessage__Output } from './anvil/provisioning/v1/AgentMessage.ts';
import type { BiosInfo as _anvil_provisioning_v1_BiosInfo, BiosInfo__Output as _anvil_provisioning_v1_BiosInfo__Output } from './anvil/provisioning/v1/BiosInfo.ts';
import type { BmcInfo as _anvil_provisioning_v1_BmcInfo, BmcInfo__Output as _anvil_provisioning_v1_BmcInfo__Output } from './anvil/provisioning/v1/BmcInfo.ts';
import type { BoardInfo as _anvil_provisioning_v1_BoardInfo, BoardInfo__Output as _anvil_provisioning_v1_BoardInfo__Output } from './anvil/provisioning/v1/BoardInfo.ts';
import type { ChassisInfo as _anvil_provisioning_v1_ChassisInfo, ChassisInfo__Output as _anvil_provisioning_v1_ChassisInfo__Output } from './anvil/provisioning/v1/ChassisInfo.ts';
import type { CpuInfo as _anvil_provisioning_v1_CpuInfo, CpuInfo__Output as _anvil_provisioning_v1_CpuInfo__Output } from './anvil/provisioning/v1/CpuInfo.ts';
import type { Dimm as _anvil_provisioning_v1_Dimm, Dimm__Output as _anvil_provisioning_v1_Dimm__Output } from './anvil/provisioning/v1/Dimm.ts';
import type { Disk as _anvil_provisioning_v1_Disk, Disk__Output as _anvil_provisioning_v1_Disk__Output } from './anvil/provisioning/v1/Disk.ts';
import type { EraseReport as _anvil_provisioning_v1_EraseReport, EraseReport__Output as _anvil_provisioning_v1_EraseReport__Output } from './anvil/provisioning/v1/EraseReport.ts';
import type { HardwareReport as _anvil_provisioning_v1_HardwareReport, HardwareReport__Output as _anvil_provisioning_v1_HardwareReport__Output } from './anvil/provisioning/v1/HardwareReport.ts';
import type { Hello as _anvil_provisioning_v1_Hello, Hello__Output as _anvil_provisioning_v1_Hello__Output } from './anvil/provisioning/v1/Hello.ts';
import type { MemoryInfo as _anvil_provisioning_v1_MemoryInfo, MemoryInfo__Output as _anvil_provisioning_v1_MemoryInfo__Output } from './anvil/provisioning/v1/MemoryInfo.ts';
import type { Nic as _anvil_provisioning_v1_Nic, Nic__Output as _anvil_provisioning_v1_Nic__Output } from './anvil/provisioning/v1/Nic.ts';
import type { PciDevice as _anvil_provisioning_v1_PciDevice, PciDevice__Output as _anvil_provisioning_v1_PciDevice__Output } from './anvil/provisioning/v1/PciDevice.ts';
import type { PowerOffTask as _anvil_provisioning_v1_PowerOffTask, PowerOffTask__Output as _anvil_provisioning_v1_PowerOffTask__Output } from './anvil/provisioning/v1/PowerOffTask.ts';
import type { ProvisioningClient as _anvil_provisioning_v1_ProvisioningClient, ProvisioningDefinition as _anvil_provisioning_v1_ProvisioningDefinition } from './anvil/provisioning/v1/Provisioning.ts';
import type { RebootTask as _anvil_provisioning_v1_RebootTask, RebootTask__Output as _anvil_provisioning_v1_RebootTask__Output } from './anvil/provisioning/v1/RebootTask.ts';
import type { ServerMessage as _anvil_provisioning_v1_ServerMessage, ServerMessage__Output as _anvil_provisioning_v1_ServerMessage__Output } from './anvil/provisioning/v1/ServerMessage.ts';
import type { SystemInfo as _anvil_provisioning_v1_SystemInfo, SystemInfo__Output as _anvil_provisioning_v1_SystemInfo__Output } from './anvil/provisioning/v1/SystemInfo.ts';
import type { Task as _anvil_provisioning_v1_Task, Task__Output as _anvil_provisioning_v1_Task__Output } from './anvil/provisioning/v1/Task.ts';
import type { TaskProgress as _anvil_provisioning_v1_TaskProgress, TaskProgress__Output as _anvil_provisioning_v1_TaskProgress__Output } from './anvil/provisioning/v1/TaskProgress.ts';
import type { TaskResult as _anvil_provisioning_v1_TaskResult, TaskResult__Output as _anvil_provisioning_v1_TaskResult__Output } from './anvil/provisioning/v1/TaskResult.ts';
import type { Welcome as _anvil_provisioning_v1_Welcome, Welcome__Output as _anvil_provisioning_v1_Welcome__Output } from './anvil/provisioning/v1/Welcome.ts';
import type { WipeTask as _anvil_provisioning_v1_WipeTask, WipeTask__Output as _anvil_provisioning_v1_WipeTask__Output } from './anvil/provisioning/v1/WipeTask.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  anvil: {
    provisioning: {
      v1: {
        AgentMessage: MessageTypeDefinition<_anvil_provisioning_v1_AgentMessage, _anvil_provisioning_v1_AgentMessage__Output>
        BiosInfo: MessageTypeDefinition<_anvil_provisioning_v1_BiosInfo, _anvil_provisioning_v1_BiosInfo__Output>
        BmcInfo: MessageTypeDefinition<_anvil_provisioning_v1_BmcInfo, _anvil_provisioning_v1_BmcInfo__Output>
        BoardInfo: MessageTypeDefinition<_anvil_provisioning_v1_BoardInfo, _anvil_provisioning_v1_BoardInfo__Output>
        ChassisInfo: MessageTypeDefinition<_anvil_provisioning_v1_ChassisInfo, _anvil_provisioning_v1_ChassisInfo__Output>
        CpuInfo: MessageTypeDefinition<_anvil_provisioning_v1_CpuInfo, _anvil_provisioning_v1_CpuInfo__Output>
        Dimm: MessageTypeDefinition<_anvil_provisioning_v1_Dimm, _anvil_provisioning_v1_Dimm__Output>
        Disk: MessageTypeDefinition<_anvil_provisioning_v1_Disk, _anvil_provisioning_v1_Disk__Output>
        EraseReport: MessageTypeDefinition<_anvil_provisioning_v1_EraseReport, _anvil_provisioning_v1_EraseReport__Output>
        HardwareReport: MessageTypeDefinition<_anvil_provisioning_v1_HardwareReport, _anvil_provisioning_v1_HardwareReport__Output>
        Hello: MessageTypeDefinition<_anvil_provisioning_v1_Hello, _anvil_provisioning_v1_Hello__Output>
        MemoryInfo: MessageTypeDefinition<_anvil_provisioning_v1_MemoryInfo, _anvil_provisioning_v1_MemoryInfo__Output>
        Nic: MessageTypeDefinition<_anvil_provisioning_v1_Nic, _anvil_provisioning_v1_Nic__Output>
        PciDevice: MessageTypeDefinition<_anvil_provisioning_v1_PciDevice, _anvil_provisioning_v1_PciDevice__Output>
        PowerOffTask: MessageTypeDefinition<_anvil_provisioning_v1_PowerOffTask, _anvil_provisioning_v1_PowerOffTask__Output>
        Provisioning: SubtypeConstructor<typeof grpc.Client, _anvil_provisioning_v1_ProvisioningClient> & { service: _anvil_provisioning_v1_ProvisioningDefinition }
        RebootTask: MessageTypeDefinition<_anvil_provisioning_v1_RebootTask, _anvil_provisioning_v1_RebootTask__Output>
        ServerMessage: MessageTypeDefinition<_anvil_provisioning_v1_ServerMessage, _anvil_provisioning_v1_ServerMessage__Output>
        SystemInfo: MessageTypeDefinition<_anvil_provisioning_v1_SystemInfo, _anvil_provisioning_v1_SystemInfo__Output>
        Task: MessageTypeDefinition<_anvil_provisioning_v1_Task, _anvil_provisioning_v1_Task__Output>
        TaskProgress: MessageTypeDefinition<_anvil_provisioning_v1_TaskProgress, _anvil_provisioning_v1_TaskProgress__Output>
        TaskResult: MessageTypeDefinition<_anvil_provisioning_v1_TaskResult, _anvil_provisioning_v1_TaskResult__Output>
        Welcome: MessageTypeDefinition<_anvil_provisioning_v1_Welcome, _anvil_provisioning_v1_Welcome__Output>
        WipeTask: MessageTypeDefinition<_anvil_provisioning_v1_WipeTask, _anvil_provisioning_v1_WipeTask__Output>
      }
    }
  }
}

