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
  templateSources,
  type TemplateInfo,
  type TemplateSource,
} from './catalog.js';
export { projectContext, quotedList, type ProjectContext } from './context.js';
export {
  moveIntoExistingDirectory,
  writeTemplateFiles,
  type WriteTemplateFilesOptions,
  type WrittenTemplateFiles,
} from './staging.js';
