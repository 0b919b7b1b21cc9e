/**
 * Entry of every Node-runtime node process: `run.mjs <file> [args…]`. Importing the file (instead
 * of naming it as the entry) keeps it on the ES module loader, where hooks.mjs applies; argv is
 * rewritten so the node sees `[node, <file>, args…]` as if started directly.
 */
import { pathToFileURL } from 'node:url'

const file = process.argv[2]
process.argv.splice(1, 1)
await import(pathToFileURL(file).href)
