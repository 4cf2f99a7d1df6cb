"""socksort.training"""
