export type { BlobSink } from './blob-sink.ts';
export { BlobStore } from './blob-store.ts';
export { ImageStore, repoOf, type AddImageOptions, type ImageRecord, type LayerInfo, type RemoveResult } from './image-store.ts';
export { unpackLayer, type UnpackResult } from './unpack.ts';
export { mountRootfs, unmountRootfs, mergedDirOf, rootfsDirOf, mountPoints } from './rootfs.ts';
export { loadArchive, saveImages, writeDockerArchive, type ArchiveImage, type LoadedImage } from './archive.ts';
export { chainIds, sha256, isDigest } from './digest.ts';
