"""GDPR: Article 15 exports, Article 17 erasures verified by a scan, Article 7 consent."""
