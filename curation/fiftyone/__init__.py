"""fiftyone"""
