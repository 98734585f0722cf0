/**
 * The inputs every action that reads or writes backups in DigitalOcean Spaces shares:
 * `spaces-endpoint` (required, http(s) URL), `spaces-region` (us-east-1), `spaces-bucket` (required,
 * S3 bucket naming rules), `spaces-access-key` and `spaces-secret-key` (secrets, required, masked as
 * they are read), `spaces-path-style` (false).
 */
import { ConfigurationError } from './configuration-error.js';
import type { InputReader } from './inputs.js';

export interface SpacesSettings {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  /** Masked by the reader before it is returned. */
  readonly secretAccessKey: string;
  readonly forcePathStyle: boolean;
}

/** S3's rules for bucket names (3 to 63 lower-case letters, digits, dots and hyphens). */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_PATTERN = /^[a-z0-9-]{2,32}$/;

export function readSpacesSettings(reader: InputReader): SpacesSettings {
  const endpoint = reader.required('spaces-endpoint', 'the Spaces endpoint, e.g. https://fra1.digitaloceanspaces.com');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigurationError(`Input spaces-endpoint ${JSON.stringify(endpoint)} is not a URL (e.g. https://fra1.digitaloceanspaces.com).`, { input: 'spaces-endpoint' });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.search !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigurationError(`Input spaces-endpoint ${JSON.stringify(endpoint)} must be http(s)://HOST[:PORT] with no path, query or credentials.`, { input: 'spaces-endpoint' });
  }
  const bucket = reader.required('spaces-bucket', 'the bucket (Space) the backups live in');
  if (!BUCKET_PATTERN.test(bucket) || bucket.includes('..')) {
    throw new ConfigurationError(`Input spaces-bucket ${JSON.stringify(bucket)} is not a bucket name (3 to 63 lower-case letters, digits, "." and "-").`, { input: 'spaces-bucket' });
  }
  const accessKeyId = reader.secret('spaces-access-key', { required: true, hint: 'the Spaces access key id, e.g. secrets.SPACES_ACCESS_KEY' });
  const secretAccessKey = reader.secret('spaces-secret-key', { required: true, hint: 'the Spaces secret key, e.g. secrets.SPACES_SECRET_KEY' });
  const region = reader.optional('spaces-region', 'us-east-1');
  if (!REGION_PATTERN.test(region)) throw new ConfigurationError(`Input spaces-region ${JSON.stringify(region)} is not a region name.`, { input: 'spaces-region' });
  return { endpoint: `${url.protocol}//${url.host}`, region, bucket, accessKeyId, secretAccessKey, forcePathStyle: reader.boolean('spaces-path-style', false) };
}
