export { addCi, addIac, type AddCiOptions, type AddCiResult, type AddIacOptions, type AddIacResult } from './add.js';
export { ciProviders, iacKinds, parseCiProvider, parseIacKind, type CiProvider, type IacKind } from './choices.js';
export { cdkVersions, pinnedActions } from './pinned-actions.js';
export { deployCommandOf, stackNameOf } from './templates.js';
