/** Configuration: the YAML file, validated with zod schemas generated from the option tables. */
export { configSchema, streamSchema } from './config-schema.ts';
export { streamIngest } from './config-schema.ts';
export type { VigilConfig, VigilConfigInput, StreamConfig, IngestSettings } from './config-schema.ts';
export { parseConfig, parseConfigText, loadConfigFile, formatPath } from './load-config.ts';
export { configReferenceMarkdown } from './reference.ts';
