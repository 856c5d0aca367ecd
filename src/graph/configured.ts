/** The Graph API client of the configuration (Meta, or any stand-in at the configured address). */
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { createGraphClient, type GraphClient } from './client';

export function createConfiguredGraphClient(meta: AppConfig['meta'], logger?: Logger): GraphClient {
  return createGraphClient({
    baseUrl: meta.graphApiUrl,
    version: meta.graphApiVersion,
    timeoutMs: meta.graphApiTimeoutMs,
    appId: meta.appId,
    appSecret: meta.appSecret,
    ...(logger === undefined ? {} : { logger }),
  });
}
