import type { Architecture } from '../layer/index.js';
import { packageNameOf } from '../names.js';

/** The variables about the project itself that every template, the shared CI and IaC ones too, may use. */
export interface ProjectContext {
  name: string;
  packageName: string;
  architectures: Architecture[];
  architecturesCsv: string;
  architecturesSpaced: string;
  architecturesJson: string;
}

/** `["a", "b"]`: a list as JSON, YAML and HCL all read it. */
export function quotedList(items: readonly string[]): string {
  return `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;
}

export function projectContext(project: { name: string; architectures: readonly Architecture[] }): ProjectContext {
  return {
    name: project.name,
    packageName: packageNameOf(project.name),
    architectures: [...project.architectures],
    architecturesCsv: project.architectures.join(','),
    architecturesSpaced: project.architectures.join(' '),
    architecturesJson: quotedList(project.architectures),
  };
}
