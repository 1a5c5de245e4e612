import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentMessageInput as _anvil_provisioning_v1_AgentMessageInput, AgentMessage as _anvil_provisioning_v1_AgentMessage } from './anvil/provisioning/v1/AgentMessage.ts';
import type { BiosInfoInput as _anvil_provisioning_v1_BiosInfoInput, BiosInfo as _anvil_provisioning_v1_BiosInfo } from './anvil/provisioning/v1/BiosInfo.ts';
import type { BmcInfoInput as _anvil_provisioning_v1_BmcInfoInput, BmcInfo as _anvil_provisioning_v1_BmcInfo } from './anvil/provisioning/v1/BmcInfo.ts';
import type { BoardInfoInput as _anvil_provisioning_v1_BoardInfoInput, BoardInfo as _anvil_provisioning_v1_BoardInfo } from './anvil/provisioning/v1/BoardInfo.ts';
import type { CancelInput as _anvil_provisioning_v1_CancelInput, Cancel as _anvil_provisioning_v1_Cancel } from './anvil/provisioning/v1/Cancel.ts';
import type { ChassisInfoInput as _anvil_provisioning_v1_ChassisInfoInput, ChassisInfo as _anvil_provisioning_v1_ChassisInfo } from './anvil/provisioning/v1/ChassisInfo.ts';
import type { CpuInfoInput as _anvil_provisioning_v1_CpuInfoInput, CpuInfo as _anvil_provisioning_v1_CpuInfo } from './anvil/provisioning/v1/CpuInfo.ts';
import type { DimmInput as _anvil_provisioning_v1_DimmInput, Dimm as _anvil_provisioning_v1_Dimm } from './anvil/provisioning/v1/Dimm.ts';
import type { DiskInput as _anvil_provisioning_v1_DiskInput, Disk as _anvil_provisioning_v1_Disk } from './anvil/provisioning/v1/Disk.ts';
import type { EraseReportInput as _anvil_provisioning_v1_EraseReportInput, EraseReport as _anvil_provisioning_v1_EraseReport } from './anvil/provisioning/v1/EraseReport.ts';
import type { HardwareReportInput as _anvil_provisioning_v1_HardwareReportInput, HardwareReport as _anvil_provisioning_v1_HardwareReport } from './anvil/provisioning/v1/HardwareReport.ts';
import type { HelloInput as _anvil_provisioning_v1_HelloInput, Hello as _anvil_provisioning_v1_Hello } from './anvil/provisioning/v1/Hello.ts';
import type { InstallReportInput as _anvil_provisioning_v1_InstallReportInput, InstallReport as _anvil_provisioning_v1_InstallReport } from './anvil/provisioning/v1/InstallReport.ts';
import type { InstallTaskInput as _anvil_provisioning_v1_InstallTaskInput, InstallTask as _anvil_provisioning_v1_InstallTask } from './anvil/provisioning/v1/InstallTask.ts';
import type { MemoryInfoInput as _anvil_provisioning_v1_MemoryInfoInput, MemoryInfo as _anvil_provisioning_v1_MemoryInfo } from './anvil/provisioning/v1/MemoryInfo.ts';
import type { NicInput as _anvil_provisioning_v1_NicInput, Nic as _anvil_provisioning_v1_Nic } from './anvil/provisioning/v1/Nic.ts';
import type { NodeCertificateReplyInput as _anvil_provisioning_v1_NodeCertificateReplyInput, NodeCertificateReply as _anvil_provisioning_v1_NodeCertificateReply } from './anvil/provisioning/v1/NodeCertificateReply.ts';
import type { NodeCertificateRequestInput as _anvil_provisioning_v1_NodeCertificateRequestInput, NodeCertificateRequest as _anvil_provisioning_v1_NodeCertificateRequest } from './anvil/provisioning/v1/NodeCertificateRequest.ts';
import type { NodeNoticeReplyInput as _anvil_provisioning_v1_NodeNoticeReplyInput, NodeNoticeReply as _anvil_provisioning_v1_NodeNoticeReply } from './anvil/provisioning/v1/NodeNoticeReply.ts';
import type { NodeNoticeRequestInput as _anvil_provisioning_v1_NodeNoticeRequestInput, NodeNoticeRequest as _anvil_provisioning_v1_NodeNoticeRequest } from './anvil/provisioning/v1/NodeNoticeRequest.ts';
import type { NodeReportInput as _anvil_provisioning_v1_NodeReportInput, NodeReport as _anvil_provisioning_v1_NodeReport } from './anvil/provisioning/v1/NodeReport.ts';
import type { NodeReportReplyInput as _anvil_provisioning_v1_NodeReportReplyInput, NodeReportReply as _anvil_provisioning_v1_NodeReportReply } from './anvil/provisioning/v1/NodeReportReply.ts';
import type { PciDeviceInput as _anvil_provisioning_v1_PciDeviceInput, PciDevice as _anvil_provisioning_v1_PciDevice } from './anvil/provisioning/v1/PciDevice.ts';
import type { PowerOffTaskInput as _anvil_provisioning_v1_PowerOffTaskInput, PowerOffTask as _anvil_provisioning_v1_PowerOffTask } from './anvil/provisioning/v1/PowerOffTask.ts';
import type { ProvisioningClient as _anvil_provisioning_v1_ProvisioningClient, ProvisioningDefinition as _anvil_provisioning_v1_ProvisioningDefinition } from './anvil/provisioning/v1/Provisioning.ts';
import type { RebootTaskInput as _anvil_provisioning_v1_RebootTaskInput, RebootTask as _anvil_provisioning_v1_RebootTask } from './anvil/provisioning/v1/RebootTask.ts';
import type { ServerMessageInput as _anvil_provisioning_v1_ServerMessageInput, ServerMessage as _anvil_provisioning_v1_ServerMessage } from './anvil/provisioning/v1/ServerMessage.ts';
import type { SystemInfoInput as _anvil_provisioning_v1_SystemInfoInput, SystemInfo as _anvil_provisioning_v1_SystemInfo } from './anvil/provisioning/v1/SystemInfo.ts';
import type { TaskInput as _anvil_provisioning_v1_TaskInput, Task as _anvil_provisioning_v1_Task } from './anvil/provisioning/v1/Task.ts';
import type { TaskProgressInput as _anvil_provisioning_v1_TaskProgressInput, TaskProgress as _anvil_provisioning_v1_TaskProgress } from './anvil/provisioning/v1/TaskProgress.ts';
import type { TaskResultInput as _anvil_provisioning_v1_TaskResultInput, TaskResult as _anvil_provisioning_v1_TaskResult } from './anvil/provisioning/v1/TaskResult.ts';
import type { WelcomeInput as _anvil_provisioning_v1_WelcomeInput, Welcome as _anvil_provisioning_v1_Welcome } from './anvil/provisioning/v1/Welcome.ts';
import type { WipeTaskInput as _anvil_provisioning_v1_WipeTaskInput, WipeTask as _anvil_provisioning_v1_WipeTask } from './anvil/provisioning/v1/WipeTask.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  anvil: {
    provisioning: {
      v1: {
        AgentMessage: MessageTypeDefinition<_anvil_provisioning_v1_AgentMessageInput, _anvil_provisioning_v1_AgentMessage>
        BiosInfo: MessageTypeDefinition<_anvil_provisioning_v1_BiosInfoInput, _anvil_provisioning_v1_BiosInfo>
        BmcInfo: MessageTypeDefinition<_anvil_provisioning_v1_BmcInfoInput, _anvil_provisioning_v1_BmcInfo>
        BoardInfo: MessageTypeDefinition<_anvil_provisioning_v1_BoardInfoInput, _anvil_provisioning_v1_BoardInfo>
        Cancel: MessageTypeDefinition<_anvil_provisioning_v1_CancelInput, _anvil_provisioning_v1_Cancel>
        ChassisInfo: MessageTypeDefinition<_anvil_provisioning_v1_ChassisInfoInput, _anvil_provisioning_v1_ChassisInfo>
        CpuInfo: MessageTypeDefinition<_anvil_provisioning_v1_CpuInfoInput, _anvil_provisioning_v1_CpuInfo>
        Dimm: MessageTypeDefinition<_anvil_provisioning_v1_DimmInput, _anvil_provisioning_v1_Dimm>
        Disk: MessageTypeDefinition<_anvil_provisioning_v1_DiskInput, _anvil_provisioning_v1_Disk>
        EraseReport: MessageTypeDefinition<_anvil_provisioning_v1_EraseReportInput, _anvil_provisioning_v1_EraseReport>
        HardwareReport: MessageTypeDefinition<_anvil_provisioning_v1_HardwareReportInput, _anvil_provisioning_v1_HardwareReport>
        Hello: MessageTypeDefinition<_anvil_provisioning_v1_HelloInput, _anvil_provisioning_v1_Hello>
        InstallReport: MessageTypeDefinition<_anvil_provisioning_v1_InstallReportInput, _anvil_provisioning_v1_InstallReport>
        InstallTask: MessageTypeDefinition<_anvil_provisioning_v1_InstallTaskInput, _anvil_provisioning_v1_InstallTask>
        MemoryInfo: MessageTypeDefinition<_anvil_provisioning_v1_MemoryInfoInput, _anvil_provisioning_v1_MemoryInfo>
        Nic: MessageTypeDefinition<_anvil_provisioning_v1_NicInput, _anvil_provisioning_v1_Nic>
        NodeCertificateReply: MessageTypeDefinition<_anvil_provisioning_v1_NodeCertificateReplyInput, _anvil_provisioning_v1_NodeCertificateReply>
        NodeCertificateRequest: MessageTypeDefinition<_anvil_provisioning_v1_NodeCertificateRequestInput, _anvil_provisioning_v1_NodeCertificateRequest>
        NodeNoticeReply: MessageTypeDefinition<_anvil_provisioning_v1_NodeNoticeReplyInput, _anvil_provisioning_v1_NodeNoticeReply>
        NodeNoticeRequest: MessageTypeDefinition<_anvil_provisioning_v1_NodeNoticeRequestInput, _anvil_provisioning_v1_NodeNoticeRequest>
        NodeReport: MessageTypeDefinition<_anvil_provisioning_v1_NodeReportInput, _anvil_provisioning_v1_NodeReport>
        NodeReportReply: MessageTypeDefinition<_anvil_provisioning_v1_NodeReportReplyInput, _anvil_provisioning_v1_NodeReportReply>
        PciDevice: MessageTypeDefinition<_anvil_provisioning_v1_PciDeviceInput, _anvil_provisioning_v1_PciDevice>
        PowerOffTask: MessageTypeDefinition<_anvil_provisioning_v1_PowerOffTaskInput, _anvil_provisioning_v1_PowerOffTask>
        Provisioning: SubtypeConstructor<typeof grpc.Client, _anvil_provisioning_v1_ProvisioningClient> & { service: _anvil_provisioning_v1_ProvisioningDefinition }
        RebootTask: MessageTypeDefinition<_anvil_provisioning_v1_RebootTaskInput, _anvil_provisioning_v1_RebootTask>
        ServerMessage: MessageTypeDefinition<_anvil_provisioning_v1_ServerMessageInput, _anvil_provisioning_v1_ServerMessage>
        SystemInfo: MessageTypeDefinition<_anvil_provisioning_v1_SystemInfoInput, _anvil_provisioning_v1_SystemInfo>
        Task: MessageTypeDefinition<_anvil_provisioning_v1_TaskInput, _anvil_provisioning_v1_Task>
        TaskProgress: MessageTypeDefinition<_anvil_provisioning_v1_TaskProgressInput, _anvil_provisioning_v1_TaskProgress>
        TaskResult: MessageTypeDefinition<_anvil_provisioning_v1_TaskResultInput, _anvil_provisioning_v1_TaskResult>
        Welcome: MessageTypeDefinition<_anvil_provisioning_v1_WelcomeInput, _anvil_provisioning_v1_Welcome>
        WipeTask: MessageTypeDefinition<_anvil_provisioning_v1_WipeTaskInput, _anvil_provisioning_v1_WipeTask>
      }
    }
  }
}

