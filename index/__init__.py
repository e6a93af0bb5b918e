"""The index: reading documents, building and changing an index on disk, and searching it.

`qa/` and `app/` use only the names listed here (`from index import Index, build, normalize`), and the module
`index.update` (add, remove, update in place); everything else in index/ is its inside, free to change.
Each name is loaded on first use, so importing the package costs nothing (`qa --help` stays instant).
"""

from importlib import import_module

_SURFACE = {  # module → the names it gives the rest of the project
    "bert": ("batch_tensors", "cast_linears", "forward", "fuse_qkv"),  # the reranker's BERT layers
    "builder": ("BuildReport", "build", "corpus_hash", "folder_files", "read_files", "read_folder"),
    "cluster": ("build_on_ray",),  # the build on Ray (the optional `cluster` extra)
    "commit": ("MANIFEST", "StoreError", "commit_stamp", "read_manifest"),
    "e5model": ("DEFAULT_MODEL_NAME", "prepare_default_model"),
    "embed": ("Encoder", "cache_root", "resolve_device"),
    "info": ("describe", "render_info"),
    "int8": ("Int8Linears",),  # int8 matrix products (the reranker's too)
    "ingest": ("SUFFIXES", "IngestError", "page_of", "undated"),
    "normalizer": ("normalize", "to_script"),
    "places": ("PLACES", "PROVINCE_OF"),
    "precision": ("PRECISIONS", "Precision", "resolve_precision"),
    "segment": ("ARTICLE", "heading_level", "is_heading"),
    "sparse": ("top_k",),
    "store": ("FORMAT_VERSION", "Index", "expected_manifest_keys"),
    "tokenizer": ("cjk_bigrams", "tokenize"),
    "types": ("SENTENCE_VECTORS", "Document", "DocumentInfo", "Hit", "TextEncoder"),
    "update": ("Change",),
}
_HOME = {name: module for module, names in _SURFACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(import_module(f"index.{_HOME[name]}"), name)
    globals()[name] = value
    return value
