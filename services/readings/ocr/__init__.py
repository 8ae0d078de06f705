"""Bill photo → account number, meter serial and final readings (PP-OCR via rapidocr)."""
from .engine import OcrEngine, RapidOcrEngine, Word, get_engine, set_engine_factory
from .extract import extract, read_bill
from .preprocess import PhotoRejected

__all__ = ["OcrEngine", "RapidOcrEngine", "Word", "get_engine", "set_engine_factory",
           "extract", "read_bill", "PhotoRejected"]
