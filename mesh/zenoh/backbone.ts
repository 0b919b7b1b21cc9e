import type { Backbone, BackboneConfig, BackboneDeps } from './interfaces.ts'
import { BackboneConfigError } from './errors.ts'
export function createBackbone (config: BackboneConfig, deps: BackboneDeps): Backbone {
  void config; void deps
  throw new BackboneConfigError('backbone not implemented yet')
}
