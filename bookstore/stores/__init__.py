"""Versioned object store backends: the interface (:mod:`.base`), S3 (:mod:`.s3`) and
the embedded local store (:mod:`.local`)."""

from .base import ObjectInfo, ObjectStore, Page, StoredObject, StoreStatus

__all__ = ["ObjectInfo", "ObjectStore", "Page", "StoreStatus", "StoredObject"]
