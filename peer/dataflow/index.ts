/**
 * Dataflow descriptors: dora-rs 1.0 YAML (plus swarmflow's `deploy.caps`, `deploy.resources`,
 * `deploy.strict` and `files`) parsed, validated and normalized. Pure: no I/O besides reading
 * file metadata when `checkFiles` is on (and `localFilesOf`). See README.md for the field table.
 */
export {
  DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_POLICY, DEFAULT_RESTART_POLICY, DEFAULT_MAX_RESTARTS,
  type Dataflow, type DataflowDiff, type DescriptorIssue, type InputSource, type LocalFile, type NodeResources,
  type NormalizedDeploy, type NormalizedInput, type NormalizedNode, type ParseOptions, type ParseResult,
  type PathKind, type QueuePolicy, type RestartPolicy,
} from './interfaces.ts'
export { DescriptorError } from './errors.ts'
export { parseDescriptor, parseDescriptorDetailed, parseDurationMs, splitArgs, NODE_SCRIPT_EXTENSIONS } from './descriptor.ts'
export { nodeDefinitionHash, diffDataflows, localFilesOf, canonicalJson } from './definition.ts'
export { checkDataflow, type DataflowCheck } from './guard.ts'
export { didYouMean, editDistance } from './suggest.ts'
