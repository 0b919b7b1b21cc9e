/**
 * The node supervisor: runs a peer's elected node instances (restart policy, backoff, graceful
 * stop, rotating logs, no orphans). See supervisor.ts for the process model.
 */
export { createSupervisor } from './supervisor.ts'
export { readLogs, readLogEntries, followLogs, followLogLines, formatLogEntry, parseLogLine, logFilePath } from './logs.ts'
export { InstanceRunningError, SupervisorStoppedError, InstanceSpecError, LogPathError } from './errors.ts'
export type { StdioBridgeCounters } from './stdio-bridge.ts'
export type {
  Supervisor, SupervisorConfig, SupervisorCounters, SupervisorDeps, InstanceSpec, InstanceInfo, InstanceState, StateChange, ExitInfo,
  RestartPolicy, LogEntry, LogStream, ReadLogsOptions, FollowLogsOptions,
} from './interfaces.ts'
