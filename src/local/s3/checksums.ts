import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { Sha1, Sha256 } from '@aws-sdk/checksums/sha';

/**
 * S3's flexible checksums (x-amz-checksum-<algorithm>, base64 of the
 * big-endian digest), computed with the same implementations the AWS SDK
 * uses to send them.
 */

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

interface Hasher {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

const HASHERS: Record<ChecksumAlgorithm, new () => Hasher> = {
  crc32: Crc32,
  crc32c: Crc32c,
  crc64nvme: Crc64Nvme,
  sha1: Sha1,
  sha256: Sha256 as new () => Hasher,
};

/** How S3 names an algorithm in its messages (`The CRC32 you specified …`). */
export function displayName(algorithm: ChecksumAlgorithm): string {
  return algorithm.toUpperCase();
}

export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm}`;
}

/** `x-amz-checksum-crc32` → `crc32`; undefined for any other name. */
export function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const match = /^x-amz-checksum-([a-z0-9]+)$/.exec(name.toLowerCase());
  return CHECKSUM_ALGORITHMS.find((algorithm) => algorithm === match?.[1]);
}

/** Feeds bytes to one hasher per algorithm; `digests()` gives each base64 value. */
export class Checksums {
  readonly #hashers: Array<[ChecksumAlgorithm, Hasher]>;

  constructor(algorithms: Iterable<ChecksumAlgorithm>) {
    this.#hashers = [...new Set(algorithms)].map((algorithm) => [algorithm, new HASHERS[algorithm]()]);
  }

  update(data: Uint8Array): void {
    for (const [, hasher] of this.#hashers) hasher.update(data);
  }

  async digests(): Promise<Map<ChecksumAlgorithm, string>> {
    const digests = new Map<ChecksumAlgorithm, string>();
    for (const [algorithm, hasher] of this.#hashers) {
      digests.set(algorithm, Buffer.from(await hasher.digest()).toString('base64'));
    }
    return digests;
  }
}
