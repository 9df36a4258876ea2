/**
 * `create-lambda-extension`: a new project from a template. The CLI turns
 * flags and answers into ScaffoldOptions; scaffold checks them, renders the
 * template and the chosen CI and IaC files, and moves the project into place.
 */
export { goDirectiveOf, renderContext, type RenderContext } from './context.js';
export type { ScaffoldOptions, ScaffoldResult } from './options.js';
export { checkTargetDirectory, scaffold } from './scaffold.js';
export type { ToolkitSource } from './toolkit-source.js';
export { flushTemplate, nameProblems } from './validate.js';
