// The catalog API's shapes, named. They come from the server's OpenAPI
// document (schema.gen.ts), so a server change that breaks the client fails
// the type check.
import type { components } from './schema.gen';

type Schemas = components['schemas'];

export type MovieSummary = Schemas['MovieSummary'];
export type MoviePage = Schemas['MoviePage'];
export type MovieDetail = Schemas['MovieDetail'];
export type RenditionView = Schemas['RenditionView'];
export type SegmentManifest = Schemas['SegmentManifest'];
export type CatalogStatus = Schemas['CatalogStatus'];
export type ErrorBody = Schemas['ErrorBody'];
export type RoomSummary = Schemas['RoomSummary'];
export type CreateRoom = Schemas['CreateRoom'];
export type IceServerView = Schemas['IceServer'];
export type SessionView = Schemas['SessionView'];
export type SignIn = Schemas['SignIn'];
export type LibraryPage = Schemas['LibraryPage'];
export type LibraryMovie = Schemas['LibraryMovie'];
export type LibrarySort = Schemas['LibrarySort'];
export type MovieEdit = Schemas['MovieEdit'];
export type IngestJob = Schemas['IngestJob'];
export type JobList = Schemas['JobList'];
