export { addIac, type AddIacOptions, type AddIacResult } from './add-iac.js';
export { ciProviders, iacKinds, parseCiProvider, parseIacKind, type CiProvider, type IacKind } from './choices.js';
export { cdkVersions, pinnedActions } from './pinned-actions.js';
export { deployCommandOf, stackNameOf } from './templates.js';
