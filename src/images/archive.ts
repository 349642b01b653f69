// `docker load` and `docker save` tar formats.
export { loadArchive, type LoadedImage } from './archive-load.ts';
export { saveImages, writeDockerArchive, type ArchiveImage } from './archive-save.ts';
