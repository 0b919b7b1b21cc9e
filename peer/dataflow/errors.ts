import { SwarmflowError } from '../../common/errors.ts'
import type { DescriptorIssue } from './interfaces.ts'

function where (file: string | undefined, issue: DescriptorIssue): string {
  const name = file ?? '<descriptor>'
  return issue.line > 0 ? `${name}:${issue.line}:${issue.col}` : name
}

/**
 * A dataflow descriptor was refused. Carries every problem found (not just the first) so a user
 * fixes them all in one pass; nothing was deployed or written.
 */
export class DescriptorError extends SwarmflowError {
  readonly issues: readonly DescriptorIssue[]
  readonly file: string | undefined

  constructor (issues: DescriptorIssue[], file?: string, options?: ErrorOptions) {
    const n = issues.length
    const lines = issues.map(i => `  ${where(file, i)}${i.path ? ` ${i.path}` : ''}: ${i.message}`)
    super(`dataflow descriptor ${file ?? ''}${file ? ' ' : ''}has ${n} problem${n === 1 ? '' : 's'} (nothing was deployed; fix ${n === 1 ? 'it' : 'them'} and deploy again):\n${lines.join('\n')}`, options)
    this.issues = issues
    this.file = file
  }
}
