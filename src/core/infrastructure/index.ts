export { addCi, addIac, type AddCiOptions, type AddCiResult, type AddIacOptions, type AddIacResult } from './add.js';
export {
  ciProviders,
  ciTitles,
  iacKinds,
  iacTitles,
  parseCiProvider,
  parseIacKind,
  type CiProvider,
  type IacKind,
} from './choices.js';
export { cdkVersions, pinnedActions } from './pinned-actions.js';
export {
  deployCommandOf,
  infrastructureContext,
  sharedTemplateSources,
  stackNameOf,
  type InfrastructureContext,
} from './templates.js';
