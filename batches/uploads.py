"""Stop reading an uploaded spreadsheet at EXCEL_MAX_BYTES.

Django's own handlers keep an upload in memory or write it to a temporary file whole, and only
then can the view see its size: an upload of any size was written to disk whole, and only
then refused.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict


class ExcelUploadLimit(FileUploadHandler):
    """First of the request's upload handlers: passes chunks on to the others until the file
    would pass ``EXCEL_MAX_BYTES``, then ends the upload (nothing more is read or written) and
    sets ``refused``. A body declared larger than the file and the form's other fields
    together (at most DATA_UPLOAD_MAX_MEMORY_SIZE) is refused before a byte is read."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.EXCEL_MAX_BYTES
        self.received = 0  # of every file of the request
        self.refused = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            self.refused = True
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.refused = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
