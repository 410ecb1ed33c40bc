import type { StoredAttachment } from '../storage/types.ts';
import { ApiError, formError } from './errors.ts';

/**
 * Attachments go to the media proxy through its public upload API (POST /attachments/:channelId, multipart), which
 * detects the image, stores the original content-addressed and answers signed `url`/`proxy_url`, dimensions and the
 * animated flag. gateway-lite never touches the media proxy's files.
 */
export interface AttachmentUploader {
  upload(
    channelId: string,
    index: number,
    filename: string,
    data: Buffer,
    contentType?: string,
  ): Promise<StoredAttachment>;
}

interface ProxyAnswer {
  id: string;
  filename: string;
  content_type: string;
  size: number;
  width: number | null;
  height: number | null;
  is_animated: boolean;
  url: string;
  proxy_url: string;
}

export class MediaProxyUploader implements AttachmentUploader {
  constructor(
    private readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async upload(channelId: string, index: number, filename: string, data: Buffer, contentType?: string) {
    const form = new FormData();
    form.append(
      'file',
      new Blob([new Uint8Array(data)], { type: contentType ?? 'application/octet-stream' }),
      filename,
    );
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/attachments/${channelId}`, {
        method: 'POST',
        body: form,
        headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
      });
    } catch (err) {
      throw new ApiError('STORAGE_UNAVAILABLE', `media service unreachable: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as
      (ProxyAnswer & { error?: { code: string; message: string } }) | null;
    if (!res.ok || !body || body.error) {
      if (res.status >= 500 || !body) throw new ApiError('STORAGE_UNAVAILABLE', `media service answered ${res.status}`);
      const e = body.error ?? { code: 'bad_request', message: `media service answered ${res.status}` };
      throw formError(['files', index], `ATTACHMENT_${e.code.toUpperCase()}`, e.message);
    }
    return {
      id: body.id,
      filename: body.filename,
      size: body.size,
      contentType: body.content_type,
      url: body.url,
      proxyUrl: body.proxy_url,
      width: body.width,
      height: body.height,
      animated: body.is_animated,
    };
  }
}
