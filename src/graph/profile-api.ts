/** The Profile API: what Meta shares of a customer (by IGSID) with the account they wrote to. */
import { userProfileResponseSchema } from './schemas';
import type { GraphRequester } from './transport';

export interface UserProfile {
  id: string;
  username: string | null;
  name: string | null;
  profilePic: string | null;
  followerCount?: number;
  isVerifiedUser?: boolean;
  isUserFollowBusiness?: boolean;
  isBusinessFollowUser?: boolean;
}

export const DEFAULT_PROFILE_FIELDS = [
  'name',
  'username',
  'profile_pic',
  'follower_count',
  'is_verified_user',
  'is_user_follow_business',
  'is_business_follow_user',
] as const;

export interface ProfileApi {
  /** `timeoutMs` overrides the client's timeout for this call: a caller with a shorter budget gives up in time. */
  getUserProfile(input: { igsid: string; accessToken: string; fields?: readonly string[]; timeoutMs?: number }): Promise<UserProfile>;
}

export function createProfileApi(request: GraphRequester): ProfileApi {
  return {
    async getUserProfile({ igsid, accessToken, fields = DEFAULT_PROFILE_FIELDS, timeoutMs }) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(igsid)}`,
        query: { fields: fields.join(',') },
        accessToken,
        schema: userProfileResponseSchema,
        idempotent: true,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      return {
        id: data.id,
        username: data.username,
        name: data.name,
        profilePic: data.profile_pic,
        ...(data.follower_count === undefined ? {} : { followerCount: data.follower_count }),
        ...(data.is_verified_user === undefined ? {} : { isVerifiedUser: data.is_verified_user }),
        ...(data.is_user_follow_business === undefined ? {} : { isUserFollowBusiness: data.is_user_follow_business }),
        ...(data.is_business_follow_user === undefined ? {} : { isBusinessFollowUser: data.is_business_follow_user }),
      };
    },
  };
}
