// The image routes' wire shapes as the client reads them (Engine API
// image.Summary, image.HistoryResponseItem, image.DeleteResponse,
// jsonmessage.JSONMessage).

export interface ImageSummaryWire {
  Id: string; ParentId: string; RepoTags: string[] | null; RepoDigests: string[] | null; Created: number;
  Size: number; SharedSize: number; Labels: Record<string, string> | null; Containers: number;
}

export interface ImageHistoryWire { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

export interface ImageDeleteWire { Untagged?: string; Deleted?: string }

export interface ImagePruneWire { ImagesDeleted: ImageDeleteWire[] | null; SpaceReclaimed: number }

/** One line of a pull, load or import progress stream. */
export interface JsonMessageWire {
  id?: string; status?: string; stream?: string; from?: string; time?: number; timeNano?: number;
  progressDetail?: { current?: number; total?: number; start?: number; units?: string; hidecounts?: boolean };
  progress?: string;
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: unknown;
}

/** What X-Registry-Auth carries (registry.AuthConfig, base64url JSON). */
export interface AuthConfigWire { username?: string; password?: string; serveraddress?: string; identitytoken?: string }
