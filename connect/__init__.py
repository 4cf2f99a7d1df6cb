"""socksort.connect"""
