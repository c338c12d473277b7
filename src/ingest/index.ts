/**
 * Ingest: the media converter. The only module that touches node-av on the monitor's
 * frame path: it opens any input FFmpeg reads, decodes in process and hands detectors
 * read-only views.
 */
export { StreamSource } from './stream-source.ts';
export { EvidenceClipRecorder } from './evidence-clip.ts';
export type { EvidenceClip, EvidenceClipOptions } from './evidence-clip.ts';
export type { SourceOptions, SourceSink, SourceStatus, SourceState, Thumbnail } from './stream-source.ts';
export { MediaTimeline } from './media-timeline.ts';
export { selectTracks } from './select-tracks.ts';
export type { VariantChoice } from './select-tracks.ts';
export { computePreview, channelNames } from './frame-views.ts';
export { isLocalFile, protocolOptions } from './protocol-options.ts';
export { setMediaLogLevel } from './media-log.ts';
export type { TsAnalyzerOptions } from './ts-analyzer.ts';
