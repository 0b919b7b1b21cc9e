/**
 * Loader hooks (module.register) for node processes; see preload.mjs.
 * - resolve: a bare specifier that fails from the importing file is retried from this install's
 *   package.json, so shipped files import `swarmflow/node` (package self-reference) and the
 *   packages this install has (`apache-arrow`, …) with no install step of their own.
 * - load: a `.ts` file outside any `"type": "module"` package would be compiled to CommonJS by tsx
 *   (no top-level await, no fallback resolution); node files are ES modules, so we say so.
 */
let anchor

export function initialize (data) {
  anchor = data.anchor
}

const NOT_BARE = /^(\.|\/|#|[a-zA-Z][a-zA-Z0-9+.-]*:)/

export async function resolve (specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context)
  } catch (err) {
    if (anchor === undefined || NOT_BARE.test(specifier) || context.parentURL === anchor) throw err
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') throw err
    return await nextResolve(specifier, { ...context, parentURL: anchor })
  }
}

export async function load (url, context, nextLoad) {
  if (url.startsWith('file:') && !url.includes('/node_modules/') && /\.m?ts$/.test(new URL(url).pathname)) {
    return await nextLoad(url, { ...context, format: 'module' })
  }
  return await nextLoad(url, context)
}
