"""Council reports: content gathered from the services (`council`), written as a PDF typeset
from HTML/CSS (`pdf`) or as a workbook (`xlsx`); downloadable tables (`tables`)."""
