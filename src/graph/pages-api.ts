/**
 * The user and what they manage: who the user is, their Pages with Page tokens and linked Instagram accounts,
 * an Instagram account's own fields, and the app's webhook subscription on a Page.
 */
import type { z } from 'zod';
import { UnexpectedResponseError } from '../domain/errors';
import {
  instagramAccountResponseSchema,
  meResponseSchema,
  pagedListSchema,
  pageSchema,
  subscribedAppsResponseSchema,
  successResponseSchema,
} from './schemas';
import type { GraphRequester } from './transport';

export interface ManagedPage {
  id: string;
  name: string;
  /** Absent when the user did not grant access to this Page's token. */
  accessToken?: string;
  tasks: string[];
  instagramBusinessAccountId?: string;
}

export interface InstagramAccount {
  id: string;
  username?: string;
  name: string | null;
  profilePictureUrl: string | null;
}

export interface SubscribedApp {
  id: string;
  name?: string;
  subscribedFields: string[];
}

export interface PagesApi {
  getMe(userToken: string): Promise<{ id: string; name?: string }>;
  listPages(userToken: string): Promise<ManagedPage[]>;
  getInstagramAccount(igAccountId: string, accessToken: string): Promise<InstagramAccount>;
  subscribeApp(pageId: string, pageToken: string, fields: readonly string[]): Promise<void>;
  listSubscribedApps(pageId: string, pageToken: string): Promise<SubscribedApp[]>;
  unsubscribeApp(pageId: string, pageToken: string): Promise<void>;
}

/** Paging cursors only; a bounded number of pages so a misbehaving upstream cannot keep us here. */
const MAX_PAGES_OF_PAGES = 50;

const managedPage = (item: z.output<typeof pageSchema>): ManagedPage => ({
  id: item.id,
  name: item.name,
  tasks: item.tasks,
  ...(item.access_token === undefined ? {} : { accessToken: item.access_token }),
  ...(item.instagram_business_account === undefined ? {} : { instagramBusinessAccountId: item.instagram_business_account.id }),
});

export function createPagesApi(request: GraphRequester): PagesApi {
  return {
    async getMe(userToken) {
      const data = await request({
        method: 'GET',
        path: '/me',
        query: { fields: 'id,name' },
        accessToken: userToken,
        schema: meResponseSchema,
        idempotent: true,
      });
      return { id: data.id, ...(data.name === undefined ? {} : { name: data.name }) };
    },

    async listPages(userToken) {
      const pages: ManagedPage[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_PAGES_OF_PAGES; page += 1) {
        const data = await request({
          method: 'GET',
          path: '/me/accounts',
          query: { fields: 'id,name,access_token,tasks,instagram_business_account', limit: '100', ...(after ? { after } : {}) },
          accessToken: userToken,
          schema: pagedListSchema(pageSchema),
          idempotent: true,
        });
        pages.push(...data.data.map(managedPage));
        const next = data.paging?.next;
        if (next === undefined) break;
        after = new URL(next).searchParams.get('after') ?? undefined;
        if (after === undefined) break;
      }
      return pages;
    },

    async getInstagramAccount(igAccountId, accessToken) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(igAccountId)}`,
        query: { fields: 'id,username,name,profile_picture_url' },
        accessToken,
        schema: instagramAccountResponseSchema,
        idempotent: true,
      });
      return {
        id: data.id,
        name: data.name,
        profilePictureUrl: data.profile_picture_url,
        ...(data.username === undefined ? {} : { username: data.username }),
      };
    },

    async subscribeApp(pageId, pageToken, fields) {
      const data = await request({
        method: 'POST',
        path: `/${encodeURIComponent(pageId)}/subscribed_apps`,
        query: { subscribed_fields: fields.join(',') },
        accessToken: pageToken,
        schema: successResponseSchema,
        idempotent: true,
      });
      if (!data.success) throw new UnexpectedResponseError(`subscribing the app to Page ${pageId} answered success=false`);
    },

    async listSubscribedApps(pageId, pageToken) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(pageId)}/subscribed_apps`,
        accessToken: pageToken,
        schema: subscribedAppsResponseSchema,
        idempotent: true,
      });
      return data.data.map((app) => ({
        id: app.id,
        subscribedFields: app.subscribed_fields,
        ...(app.name === undefined ? {} : { name: app.name }),
      }));
    },

    async unsubscribeApp(pageId, pageToken) {
      const data = await request({
        method: 'DELETE',
        path: `/${encodeURIComponent(pageId)}/subscribed_apps`,
        accessToken: pageToken,
        schema: successResponseSchema,
        idempotent: true,
      });
      if (!data.success) throw new UnexpectedResponseError(`unsubscribing the app from Page ${pageId} answered success=false`);
    },
  };
}
