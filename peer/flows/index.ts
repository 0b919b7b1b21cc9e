export { createFlowManager, LOGS_PROTOCOL, FlowNotFoundError, type FlowManager } from './manager.ts'
