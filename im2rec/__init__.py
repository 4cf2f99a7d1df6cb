"""socksort.im2rec"""
