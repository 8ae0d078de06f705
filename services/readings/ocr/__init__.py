"""Bill photo → account number, meter serials and final readings (PP-OCR via rapidocr)."""
from .engine import (Detection, OcrEngine, RapidOcrEngine, StagedOcrEngine, Word, get_engine,
                     set_engine_factory)
from .extract import extract, read_bill, read_words
from .preprocess import PhotoRejected
from .recognise import KnownAccount, KnownMeter, recognise

__all__ = ["Detection", "OcrEngine", "RapidOcrEngine", "StagedOcrEngine", "Word", "get_engine",
           "set_engine_factory", "extract", "read_bill", "read_words", "PhotoRejected",
           "KnownAccount", "KnownMeter", "recognise"]
