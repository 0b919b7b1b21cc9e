export { createLogger, silentLogger, type Logger, type RootLoggerOptions } from './log.ts'
export { SwarmflowError, UsageError, isSwarmflowError } from './errors.ts'
export { BoundedQueue, type OverflowPolicy } from './queue.ts'
export { corkForTurn, socketOfWs, type CorkableSocket } from './cork.ts'
