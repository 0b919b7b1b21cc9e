import { createHash } from 'node:crypto'
import { globSync, statSync } from 'node:fs'
import { relative, resolve, sep } from 'node:path'
import { DescriptorError } from './errors.ts'
import { staysInside } from './descriptor.ts'
import type { Dataflow, DataflowDiff, DescriptorIssue, LocalFile, NormalizedNode } from './interfaces.ts'

/** JSON with object keys sorted at every level, so equal data gives equal bytes on every peer. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj).filter(k => obj[k] !== undefined).sort()
  return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

/**
 * sha256 (hex) of a node's normalized definition. Equal on every peer for equal definitions, so a
 * redeploy restarts exactly the nodes whose hash changed. `fileDigests` (set by the deployer) is
 * included: an edited script changes its node's hash even when the descriptor did not change.
 */
export function nodeDefinitionHash (node: NormalizedNode): string {
  return createHash('sha256').update(canonicalJson(node)).digest('hex')
}

/** Node ids added, removed, changed (different definition hash) and unchanged, each sorted. */
export function diffDataflows (previous: Dataflow | undefined, next: Dataflow): DataflowDiff {
  const before = new Map((previous?.nodes ?? []).map(n => [n.id, nodeDefinitionHash(n)]))
  const after = new Map(next.nodes.map(n => [n.id, nodeDefinitionHash(n)]))
  const diff: DataflowDiff = { added: [], removed: [], changed: [], unchanged: [] }
  for (const [id, h] of after) {
    const old = before.get(id)
    if (old === undefined) diff.added.push(id)
    else if (old === h) diff.unchanged.push(id)
    else diff.changed.push(id)
  }
  for (const id of before.keys()) if (!after.has(id)) diff.removed.push(id)
  for (const list of Object.values(diff) as string[][]) list.sort()
  return diff
}

const toPosix = (p: string): string => p.split(sep).join('/')
const isGlob = (p: string): boolean => /[*?[\]{}]/.test(p)
const isRegularFile = (p: string): boolean => { try { return statSync(p).isFile() } catch { return false } }

/**
 * The local files each node needs shipped: its `path` when that is a file next to the descriptor
 * (pathKind `file`), plus every match of its `files` entries. Imports inside a script are NOT
 * followed: a node made of several files lists its siblings in `files` (e.g. `files: [lib/*.ts]`).
 * Throws one `DescriptorError` naming every missing file or empty glob.
 */
export function localFilesOf (dataflow: Dataflow, baseDir: string): LocalFile[] {
  const base = resolve(baseDir)
  const out: LocalFile[] = []
  const issues: DescriptorIssue[] = []
  for (const node of dataflow.nodes) {
    const seen = new Set<string>()
    const add = (rel: string, role: LocalFile['role']): void => {
      const abs = resolve(base, rel)
      const relPath = toPosix(relative(base, abs))
      if (seen.has(relPath)) return
      seen.add(relPath)
      out.push({ node: node.id, relPath, absPath: abs, role })
    }
    if (node.pathKind === 'file') {
      const abs = resolve(base, node.path)
      if (!staysInside(base, node.path)) issues.push({ path: `nodes.${node.id}.path`, line: 0, col: 0, message: `${node.path} leaves ${base}; only files under the descriptor's directory are shipped` })
      else if (!isRegularFile(abs)) issues.push({ path: `nodes.${node.id}.path`, line: 0, col: 0, message: `file ${node.path} not found (looked for ${abs})` })
      else add(node.path, 'entry')
    }
    for (const entry of node.files) {
      if (!isGlob(entry) && !staysInside(base, entry)) {
        issues.push({ path: `nodes.${node.id}.files`, line: 0, col: 0, message: `${entry} leaves ${base}; list files under the descriptor's directory` })
        continue
      }
      if (!isGlob(entry)) {
        if (!isRegularFile(resolve(base, entry))) issues.push({ path: `nodes.${node.id}.files`, line: 0, col: 0, message: `file ${entry} not found under ${base}` })
        else add(entry, 'extra')
        continue
      }
      const matches = globSync(entry, { cwd: base }).map(String).filter(m => staysInside(base, m) && isRegularFile(resolve(base, m))).sort()
      if (matches.length === 0) issues.push({ path: `nodes.${node.id}.files`, line: 0, col: 0, message: `pattern ${entry} matches no file under ${base}` })
      for (const m of matches) add(m, 'extra')
    }
  }
  if (issues.length > 0) throw new DescriptorError(issues)
  return out
}
