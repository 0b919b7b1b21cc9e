import { describe, expect, test } from 'vitest'
import { KeyExpr } from '@eclipse-zenoh/zenoh-ts'
import { ARROW_STREAM_ENCODING, flowOutputsSelector, nodeAliveKey, outputKey, peerAliveKey, peerLogKey, peerServiceKey, peersAliveSelector } from './keys.ts'
import { InvalidKeySegmentError } from './errors.ts'

describe('swarm key space', () => {
  test('builders produce canonical zenoh keys that the selectors match', () => {
    const out = outputKey('s1', 'flow-a', 'camera', 'image')
    expect(out).toBe('swarmflow/s1/flows/flow-a/nodes/camera/outputs/image')
    expect(new KeyExpr(flowOutputsSelector('s1', 'flow-a')).intersects(out)).toBe(true)
    expect(new KeyExpr(peersAliveSelector('s1')).includes(peerAliveKey('s1', '12D3KooWabc'))).toBe(true)
    for (const k of [nodeAliveKey('s1', 'f', 'n', 'p'), peerLogKey('s1', 'p', 'peer'), peerServiceKey('s1', 'p', 'status')]) {
      expect(KeyExpr.autocanonize(k).toString()).toBe(k)
    }
    expect(ARROW_STREAM_ENCODING).toBe('application/vnd.apache.arrow.stream')
  })

  test('segments with reserved characters or empty are refused with an actionable error', () => {
    for (const bad of ['', 'a/b', '*', 'x**', 'a$b', 'q?', 'h#']) {
      expect(() => outputKey('s1', 'f', bad, 'o')).toThrow(InvalidKeySegmentError)
    }
    expect(() => outputKey('s1', 'f', 'a/b', 'o')).toThrow(/node id "a\/b"/)
  })
})
