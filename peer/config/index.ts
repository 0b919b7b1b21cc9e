export { resolveConfig, loadDotEnv, parseLabels, SETTINGS, type PeerConfig } from './config.ts'
