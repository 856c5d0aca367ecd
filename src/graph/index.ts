export * from './client';
export { mapMetaError, retryAfterFromUsageHeader, type MetaErrorBody } from './meta-errors';
export { scrubText, scrubUrl } from './redaction';
