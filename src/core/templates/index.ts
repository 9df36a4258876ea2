/**
 * The templates below templates/: which there are (each template.json read
 * once), rendering them strictly, and writing them through a staging folder.
 * create and ext add both write through writeTemplateFiles.
 */
export {
  availableTemplates,
  dotfileNames,
  projectPathOf,
  templateInfo,
  templateManifestName,
  templateSources,
  type TemplateInfo,
  type TemplateSource,
} from './catalog.js';
export { projectContext, quotedList, type ProjectContext } from './context.js';
export { renderHandlebars, renderSources } from './render.js';
export {
  moveIntoExistingDirectory,
  replacementProblems,
  writeTemplateFiles,
  type WriteTemplateFilesOptions,
  type WrittenTemplateFiles,
} from './staging.js';
