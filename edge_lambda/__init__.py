"""socksort.edge_lambda"""
